"""Session-replay survey: Tranco list → crawl → request logs → detection → disclosure → report."""
