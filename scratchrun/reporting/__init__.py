"""`scratchrun report`: one offline HTML file of runs, studies and searches, drawn with plotly.js in the page.

`content` gathers what the page shows from the run folders as plain data, `figures` turns a study's or a search's
records into plotly figure specifications, and `page` writes them with the page's own script into one file.
"""
