# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Unchecked core of a cache-blocked float64 matrix multiplication ``C = A @ B``.

Nothing here validates its input; :mod:`workbench.kernels.matmul` is the
checked face.  The block sizes are the point of the exercise: the loops walk
``C`` in ``bm x bn`` tiles and the shared dimension in slabs of ``bk``, so
that the ``bk x bn`` tile of ``B`` and the ``bm x bn`` tile of ``C`` are
reused from cache while a ``bm x bk`` panel of ``A`` streams past.  Inside a
tile, 4 x 4 blocks of ``C`` stay in registers for a whole slab (sixteen
independent multiply-adds per step of ``p``; x86-64's sixteen SSE registers
hold them); edges that do not fill a 4 x 4 block take plain loops.
"""


cdef inline Py_ssize_t _min(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a < b else b


cdef inline void _kernel4x4(const double* A, const double* B, double* C,
                            const Py_ssize_t k, const Py_ssize_t n,
                            const Py_ssize_t p0, const Py_ssize_t p1) noexcept nogil:
    # C[r, c] += sum_p A[r, p] B[p, c] for r, c < 4; A and C start at the tile's corner.
    cdef double c00 = C[0], c01 = C[1], c02 = C[2], c03 = C[3]
    cdef double c10 = C[n], c11 = C[n + 1], c12 = C[n + 2], c13 = C[n + 3]
    cdef double c20 = C[2 * n], c21 = C[2 * n + 1], c22 = C[2 * n + 2], c23 = C[2 * n + 3]
    cdef double c30 = C[3 * n], c31 = C[3 * n + 1], c32 = C[3 * n + 2], c33 = C[3 * n + 3]
    cdef double a0, a1, a2, a3, b0, b1, b2, b3
    cdef Py_ssize_t p
    for p in range(p0, p1):
        b0 = B[p * n]; b1 = B[p * n + 1]; b2 = B[p * n + 2]; b3 = B[p * n + 3]
        a0 = A[p]; a1 = A[k + p]; a2 = A[2 * k + p]; a3 = A[3 * k + p]
        c00 = c00 + a0 * b0; c01 = c01 + a0 * b1; c02 = c02 + a0 * b2; c03 = c03 + a0 * b3
        c10 = c10 + a1 * b0; c11 = c11 + a1 * b1; c12 = c12 + a1 * b2; c13 = c13 + a1 * b3
        c20 = c20 + a2 * b0; c21 = c21 + a2 * b1; c22 = c22 + a2 * b2; c23 = c23 + a2 * b3
        c30 = c30 + a3 * b0; c31 = c31 + a3 * b1; c32 = c32 + a3 * b2; c33 = c33 + a3 * b3
    C[0] = c00; C[1] = c01; C[2] = c02; C[3] = c03
    C[n] = c10; C[n + 1] = c11; C[n + 2] = c12; C[n + 3] = c13
    C[2 * n] = c20; C[2 * n + 1] = c21; C[2 * n + 2] = c22; C[2 * n + 3] = c23
    C[3 * n] = c30; C[3 * n + 1] = c31; C[3 * n + 2] = c32; C[3 * n + 3] = c33


cdef void _matmul(
    const double* A,
    const double* B,
    double* C,
    const Py_ssize_t m,
    const Py_ssize_t k,
    const Py_ssize_t n,
    const Py_ssize_t bm,
    const Py_ssize_t bn,
    const Py_ssize_t bk,
) noexcept nogil:
    cdef Py_ssize_t i0, j0, p0, i1, j1, p1, i, j, p
    cdef double a0
    cdef double* c0
    cdef const double* brow
    cdef double cv
    cdef int r

    for i in range(m * n):
        C[i] = 0.0
    # while loops: Cython cannot turn range() with a run-time step into C.
    i0 = 0
    while i0 < m:
        i1 = _min(i0 + bm, m)
        p0 = 0
        while p0 < k:
            p1 = _min(p0 + bk, k)
            j0 = 0
            while j0 < n:
                j1 = _min(j0 + bn, n)
                i = i0
                while i + 4 <= i1:
                    # 4 x 4 tiles of C held in registers across the whole slab.
                    j = j0
                    while j + 4 <= j1:
                        _kernel4x4(A + i * k, B + j, C + i * n + j, k, n, p0, p1)
                        j += 4
                    while j < j1:
                        for r in range(4):
                            cv = C[(i + r) * n + j]
                            for p in range(p0, p1):
                                cv = cv + A[(i + r) * k + p] * B[p * n + j]
                            C[(i + r) * n + j] = cv
                        j += 1
                    i += 4
                while i < i1:
                    c0 = C + i * n
                    for p in range(p0, p1):
                        a0 = A[i * k + p]
                        brow = B + p * n
                        for j in range(j0, j1):
                            c0[j] += a0 * brow[j]
                    i += 1
                j0 = j1
            p0 = p1
        i0 = i1


def matmul_blocked(
    const double[:, ::1] a,
    const double[:, ::1] b,
    double[:, ::1] c,
    Py_ssize_t bm,
    Py_ssize_t bn,
    Py_ssize_t bk,
):
    """``c[...] = a @ b`` with ``bm x bn`` tiles of ``c`` and slabs of ``bk``.

    Preconditions, not checked: ``a`` is (m, k), ``b`` (k, n) and ``c`` (m, n)
    with m, k, n >= 1, all C-contiguous; ``c`` overlaps neither ``a`` nor ``b``;
    ``bm, bn, bk >= 1``.  Every ``c[i, j]`` is accumulated over ``p`` in
    ascending order whatever the blocks, so the block sizes change the speed,
    not the bits of the result.
    """
    cdef Py_ssize_t m = a.shape[0]
    cdef Py_ssize_t k = a.shape[1]
    cdef Py_ssize_t n = b.shape[1]
    with nogil:
        _matmul(&a[0, 0], &b[0, 0], &c[0, 0], m, k, n, bm, bn, bk)
