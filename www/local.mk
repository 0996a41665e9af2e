# www/ - (filled in by its issue)
