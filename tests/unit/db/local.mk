# tests/unit/db/ - (filled in by its issue)
