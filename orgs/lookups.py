"""`path__under=p`: a tree path (Organization.path, Application.applicant_path, …) that starts with the
path `p` ("/1/7/"), written so that the database answers it from the path's index.

PostgreSQL: `LIKE 'p%'`, which the varchar_pattern_ops indexes serve (as `startswith` does). SQLite never
uses an index for LIKE (its LIKE ignores case): there it is the range `p <= path < q`, `q` being `p` with
its last character raised by one ("/1/7/" → "/1/70"). In SQLite's binary order of text that range holds
exactly the strings that start with `p`.
"""
from django.db.models import CharField, Lookup
from django.db.models.lookups import StartsWith


@CharField.register_lookup
class Under(Lookup):
    lookup_name = "under"
    prepare_rhs = False

    def _startswith(self):
        return StartsWith(self.lhs, self.rhs)

    def as_sql(self, compiler, connection):
        return compiler.compile(self._startswith())

    def as_sqlite(self, compiler, connection):
        if not isinstance(self.rhs, str) or not self.rhs:
            return compiler.compile(self._startswith())
        lhs, lhs_params = self.process_lhs(compiler, connection)
        upper = self.rhs[:-1] + chr(ord(self.rhs[-1]) + 1)
        return f"({lhs} >= %s AND {lhs} < %s)", (*lhs_params, self.rhs, *lhs_params, upper)
