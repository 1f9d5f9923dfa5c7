"""The edit and finishing: the stitch, the finishing pass, music and subtitles, and the editor's round
trip (the timelines slate exports and the edits it reads back)."""
