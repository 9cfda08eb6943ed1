"""One line of the run's progress display per phase (building, measuring, pipelines)."""

from __future__ import annotations


class Phase:
    """One line of the run's progress display."""

    def __init__(self, progress, description: str, total: int):
        self.progress, self.description, self.total = progress, description, total
        self.task = progress.add_task(description, total=total)

    def step(self, what: str) -> None:
        self.progress.update(self.task, description=f"{self.description}: {what}")

    def advance(self) -> None:
        self.progress.advance(self.task)

    def done(self) -> None:
        self.progress.update(self.task, description=self.description, completed=self.total)
