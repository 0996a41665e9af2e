# fcgi/ - (filled in by its issue)
