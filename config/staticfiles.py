"""Static files for production: whitenoise's compressed, hashed storage, tolerant of one flaw in a package.

viewflow ships the roboto-fontface stylesheet without some of the font files it references (Roboto-Thin and
others): the strict storage then stops `collectstatic` with MissingFileError, so production could not start
as the README says. A reference to a file that no package ships is left as written (it answers 404 whatever
its name, and the browser falls back to the next font); every file that exists is hashed and compressed.
"""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def hashed_name(self, name, content=None, filename=None):
        try:
            return super().hashed_name(name, content, filename)
        except ValueError as exc:
            if content is None and str(exc).startswith("The file '") and "could not be found" in str(exc):
                return name
            raise
