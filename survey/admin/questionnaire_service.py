"""What the questionnaire pages (``admin/questionnaires.py``) and ``flask questionnaire``
(``admin/questionnaire_commands.py``) both need beyond ``survey.versions`` (which holds
publishing and the live version): how many have answered each version.
"""

from __future__ import annotations


def response_counts() -> dict[int, int]:
    """Responses per version, as the current release shows them: the sum of its shown
    national cells (``Snapshot.published_total``), never the live tallies, so the count
    moves only with a release and tells nothing the dashboards do not."""
    from .. import releases
    from ..dashboard import data

    release = releases.current()  # read only: listing versions publishes nothing
    if release is None:
        return {}
    return {
        version: data.snapshot(version, release=release).published_total()
        for version in data.versions(release)
    }
