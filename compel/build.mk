# compel: libcompel.a, the hgen blob tool, the std parasite runtime, and its tests.
# (Filled in by the compel work; see compel/README.md.)

COMPEL_LIB	:=
CRIU_BLOB_HDRS	:=
