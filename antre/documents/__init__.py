"""Documents Antre prints for the office: letters (surat) and the outgoing-letter register.

HTML and CSS templates (``templates/``, or the office's own folder, ``[letters] templates``) rendered to PDF
with WeasyPrint. Pure: data in, bytes out; nothing here talks to the broker or writes the database.
"""
