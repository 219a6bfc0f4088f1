from django_tasks import task

from reports import rollups


@task()
def reports_refresh() -> int:
    """Recompute the days touched since the last run; a duplicate run finds nothing to do."""
    return rollups.refresh_dirty()
