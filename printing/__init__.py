"""Document templates, PDF rendering, certificate numbering and public verification."""
