"""`evidence case-export CASE_ID`: build a case bundle with the server's export job, in the
foreground, showing its progress; the same job as POST /api/v1/cases/{id}/exports."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from api.cli_service import cli_operator, open_case_home
from api.cli_text import inert
from cases.export_jobs import DONE, ExportJob, get_export, job_folder, run_export, start_export, sweep


def run_case_export(case_id: str, out_dir: Path, include_playback: bool, reason: str | None,
                    out: Console) -> ExportJob:
    """Start and run the export job as the command line's operator; copy the ZIP to ``out_dir``."""
    home = open_case_home()
    operator = cli_operator()
    log, store = home.custody_log(), home.object_store()
    sweep(home.engine(), home.exports)
    job = start_export(log, operator, case_id, include_playback, reason)
    result: list[ExportJob] = []
    worker = threading.Thread(target=lambda: result.append(
        run_export(log, store, job.id, home.exports)), name="case-export")
    worker.start()
    shown = -1
    while worker.is_alive():
        worker.join(0.5)
        now = get_export(home.engine(), operator, job.case_id, job.id)
        if now.bytes_done != shown:
            shown = now.bytes_done
            out.print(f"  {now.items_done}/{now.items_total} items, "
                      f"{now.bytes_done:,}/{now.bytes_total:,} bytes", highlight=False)
    finished = result[0]
    if finished.state != DONE or finished.file_name is None:
        return finished
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / finished.file_name
    shutil.copyfile(job_folder(home.exports, job.id) / finished.file_name, target)
    out.print(inert(f"wrote {target} ({finished.size:,} bytes, SHA-256 {finished.sha256}) at "
                    f"{datetime.now(UTC).isoformat(timespec='seconds')}"))
    return finished
