# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# The same core as _tdse.pyx, built with -mavx2 -mfma (see meson.build); the
# face imports it instead of _tdse when the CPU has both.
include "_tdse.pyx"
