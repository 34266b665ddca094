// Server-rendered SVG plots and HTML pages for jobs.
