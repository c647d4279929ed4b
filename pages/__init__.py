"""The site builder: ``docs/*.md`` and their plots, from the op records and nnref's results."""
