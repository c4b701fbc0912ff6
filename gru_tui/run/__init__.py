"""The process boundary: a Job goes to a device worker (worker.py, `python -m gru_tui.run.worker FD`), kept by a pool (pool.py); plain data crosses it (Job, Report, ModelReport, WorkerInfo)."""
