# ws/ - (filled in by its issue)
