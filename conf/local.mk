# conf/ - (filled in by its issue)
