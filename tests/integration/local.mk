# tests/integration/ - (filled in by its issue)
