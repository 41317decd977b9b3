# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Unchecked Crank–Nicolson core for the 1D time-dependent Schrödinger equation.

Nothing here validates its input: :mod:`workbench.kernels.tdse` is the checked
face that does, and allocates every array passed in.  Calling these functions
directly with arrays that break the stated preconditions reads or writes out
of bounds.

The Hamiltonian on the uniform grid ``x_j = x0 + j*dx`` (``j = 0 .. n-1``,
Dirichlet walls just outside) is::

    H(t) = -1/2 D2 + diag(v) + diag(x) * F(t)

with ``D2`` the three-point second difference and ``v`` a complex potential
(a complex absorbing potential enters as ``-i W``).  One step solves::

    (1 + c H) psi_new = (1 - c H) psi_old

with ``c = i dt/2`` in real time and ``c = tau/2`` in imaginary time, ``F``
taken at the middle of the step.  ``1 + cH`` has the constant off-diagonal
``alpha = -c/(2 dx^2)``.  Dividing both sides by ``alpha`` makes the
off-diagonals 1, which shortens the dependent chain of the elimination (no
complex product per row) and removes ``c`` from the loop altogether::

    diag of (1 + cH)/alpha :  d_j = d0_j - 2 dx^2 F x_j,   d0_j = (1 + c(1/dx^2 + v_j)) / alpha
    (1 - cH)/alpha         :  diagonal beta - d_j, off-diagonals -1,   beta = 2/alpha

The caller precomputes ``d0`` and ``beta``; ``x_j`` is computed, not read.

Elimination is a chain of dependent complex divisions (~30 cycles a row), so
its speed is set by latency, not by the arithmetic or the memory.  Two
algorithms, both exact (no approximation beyond rounding):

* Two chains: the right-hand side and the Thomas forward sweep in one loop,
  eliminating from both ends at once so that the CPU overlaps two chains, the
  halves joined by a 2x2 solve in the middle; back substitution outwards with
  the observables.  Used for ``n < 128``, by the baseline build (SSE2: the
  lanes below do not pay without 4-wide vectors and FMA), and for a step whose
  matrix is neither diagonally dominant nor accretive (see below).
* Lanes (the build with AVX2 + FMA, ``LANES`` true): the rows ``[0, 16K)``,
  ``K = n // 16``, are cut into 16 lanes of ``K`` rows, each eliminated
  top-down on its own with the unknown row above it, ``a = psi_{s-1}``, kept
  as a spike: ``psi_j = d'_j - c'_j psi_{j+1} + P_{j+1} a`` with
  ``P_{j+1} = -P_j c'_j`` (``P_s = 1``).  The lanes sit side by side in
  memory (row ``k`` of every lane contiguous), so the 16 independent chains
  run in 4-wide vectors and overlap.  The sweep also sums
  ``SD = sum P_j d'_j`` and ``SV = sum P_j P_{j+1}``, which give the lane's
  first row ``F = SD + SV a + P_e z`` (``z`` the row below the lane); with its
  last row ``L = d'_e + P_e a - c'_e z`` these make a block-bidiagonal system
  in the 32 boundary values, solved sequentially.  The fewer than 16 rows left
  over at the bottom are eliminated upwards from row ``n-1``, like the second
  of the two chains, and join the last lane.  Back substitution then runs
  upwards in every lane with its ``a`` known.  ``psi``, ``d0`` and ``force``
  are copied into the lane order once per call and ``psi`` back at the end.
  The spikes are corner entries of the inverses of diagonal blocks, so
  ``|P_j| <= 1`` when ``|d_j| >= 2`` for every ``j`` and ``|P_j| <= 1/eta``
  when ``Im d_j >= eta > 0`` (real time: ``eta >= 4 dx^2/dt``); a step is done
  with the lanes when one of these holds (``Im d0_j >= 1/1024``, or ``|d0_j|
  - |2 dx^2 F x_j| >= 2``), else with the two chains.  ``P_j`` decays along a
  lane and is set to zero once below ``2**-200`` (checked every 32 rows),
  which changes nothing at double precision and keeps denormals out; once the
  spikes of all lanes are zero they stay zero (``P_{j+1} = -P_j c'_j``), and
  the rest of the rows neither store nor read them.
  Traffic per point and step: the forward sweep reads ``psi`` and ``d0`` and
  writes ``(c', d')``, plus ``P`` while the spikes live; the back substitution
  reads them and the force and writes ``psi``: 152 bytes on rows with a spike,
  120 on the others (the two chains: 120).  The spikes die within a few
  hundred rows, so long grids move about 120.

The arithmetic, its order and the choice of algorithm depend only on the
inputs and the build, so results are bitwise reproducible on one machine and
build (which checkpoint/restart relies on); the two builds differ in the last
bits.
"""

from libc.math cimport INFINITY, fabs, sqrt

cdef extern from *:
    """
    #if defined(__AVX2__) && defined(__FMA__)
    #define WORKBENCH_TDSE_LANES 1
    #else
    #define WORKBENCH_TDSE_LANES 0
    #endif
    """
    # The lane algorithm pays only with 4-wide vectors and FMA; the baseline
    # (SSE2) build keeps the two-chain elimination for every step.
    const bint LANES "WORKBENCH_TDSE_LANES"

cdef inline void _eliminate_row(
    const double* psi, const double* d0, const Py_ssize_t i, const double nb_re, const double nb_im,
    const double gx0, const double gdx, const double beta_re, const double beta_im, double* cd, double* out,
) noexcept nogil:
    # One row of the Thomas sweep fused with the right-hand side, for row i with diagonal
    # b_i = d0_i + gx0 + gdx i and nb = the sum of its neighbours in psi:
    #   r_i = (beta - b_i) psi_i - nb,   c'_i = 1/(b_i - c'),   d'_i = (r_i - d') c'_i.
    # cd holds (c', d') of the row eliminated before, (re, im) each, and gets row i's; out gets them too.
    cdef double b_re = d0[2 * i] + (gx0 + gdx * i)
    cdef double b_im = d0[2 * i + 1]
    cdef double r_re = (beta_re - b_re) * psi[2 * i] - (beta_im - b_im) * psi[2 * i + 1] - nb_re
    cdef double r_im = (beta_re - b_re) * psi[2 * i + 1] + (beta_im - b_im) * psi[2 * i] - nb_im
    cdef double den_re = b_re - cd[0]
    cdef double den_im = b_im - cd[1]
    cdef double q = 1.0 / (den_re * den_re + den_im * den_im)
    cdef double c_re = den_re * q
    cdef double c_im = -den_im * q
    r_re = r_re - cd[2]
    r_im = r_im - cd[3]
    cd[0] = c_re; cd[1] = c_im
    cd[2] = r_re * c_re - r_im * c_im
    cd[3] = r_re * c_im + r_im * c_re
    out[0] = cd[0]; out[1] = cd[1]; out[2] = cd[2]; out[3] = cd[3]


cdef void _cn_steps_two_chains(
    double* psi,
    const double* d0,
    double* work,
    const Py_ssize_t n,
    const double beta_re,
    const double beta_im,
    const double x0,
    const double dx,
    const double* field,
    const Py_ssize_t nsteps,
    const double* force,
    double* out_norm,
    double* out_dip,
    double* out_acc,
) noexcept nogil:
    # Complex arrays are interleaved (re, im) doubles: psi[2j], psi[2j+1].
    # work holds (c'_j, d'_j) side by side: work[4j .. 4j+3], one stream.
    # The forward sweep leaves psi untouched, so old neighbours are re-read
    # from cache instead of carried in registers (x86-64 has only 16 SSE
    # registers; spilling a value of the dependent chain costs more than the
    # load).
    cdef Py_ssize_t m = n // 2          # top half [0, m), bottom half [m, n)
    cdef Py_ssize_t s, k, j, i
    cdef double g, gx0, gdx
    cdef double top[4]                          # c'_{j-1}, d'_{j-1} of the top chain (re, im)
    cdef double bot[4]                          # e'_{i+1}, f'_{i+1} of the bottom chain
    cdef double ct_re, ct_im, dt_re, dt_im
    cdef double cb_re, cb_im, db_re, db_im
    cdef double nb_re, nb_im, r_re, r_im, q
    cdef double y_re, y_im, w_re, w_im, g_re, g_im
    cdef double nt, nb, dpt, dpb, act, acb, p2

    for s in range(nsteps):
        # The field's share of the diagonal is real whatever c is: c/alpha = -2 dx^2.
        g = -2.0 * dx * dx * field[s]
        gx0 = g * x0
        gdx = g * dx
        for k in range(4):
            top[k] = 0.0
            bot[k] = 0.0

        # ---- RHS product fused with the two-ended forward elimination ----
        for k in range(m):
            j = k
            i = n - 1 - k
            # top, row j: r_j = (beta - d_j) psi_j - (psi_{j-1} + psi_{j+1})
            if j > 0:
                nb_re = psi[2 * j - 2] + psi[2 * j + 2]
                nb_im = psi[2 * j - 1] + psi[2 * j + 3]
            else:
                nb_re = psi[2]
                nb_im = psi[3]
            _eliminate_row(psi, d0, j, nb_re, nb_im, gx0, gdx, beta_re, beta_im, top, work + 4 * j)

            # bottom, row i, eliminating upwards
            if i < n - 1:
                nb_re = psi[2 * i - 2] + psi[2 * i + 2]
                nb_im = psi[2 * i - 1] + psi[2 * i + 3]
            else:
                nb_re = psi[2 * i - 2]
                nb_im = psi[2 * i - 1]
            _eliminate_row(psi, d0, i, nb_re, nb_im, gx0, gdx, beta_re, beta_im, bot, work + 4 * i)

        if n - m > m:
            # Odd n: the bottom half has one row more, i = m (0 < m < n-1).
            i = m
            nb_re = psi[2 * i - 2] + psi[2 * i + 2]
            nb_im = psi[2 * i - 1] + psi[2 * i + 3]
            _eliminate_row(psi, d0, i, nb_re, nb_im, gx0, gdx, beta_re, beta_im, bot, work + 4 * i)

        # ---- join the halves: psi_{m-1} = D - C psi_m and psi_m = F - E psi_{m-1} ----
        # (ct, dt) are c'_{m-1}, d'_{m-1}; (cb, db) are e'_m, f'_m.
        ct_re = top[0]; ct_im = top[1]; dt_re = top[2]; dt_im = top[3]
        cb_re = bot[0]; cb_im = bot[1]; db_re = bot[2]; db_im = bot[3]
        g_re = 1.0 - (ct_re * cb_re - ct_im * cb_im)
        g_im = -(ct_re * cb_im + ct_im * cb_re)
        r_re = dt_re - (ct_re * db_re - ct_im * db_im)
        r_im = dt_im - (ct_re * db_im + ct_im * db_re)
        q = 1.0 / (g_re * g_re + g_im * g_im)
        y_re = (r_re * g_re + r_im * g_im) * q          # psi_{m-1}
        y_im = (r_im * g_re - r_re * g_im) * q
        w_re = db_re - (cb_re * y_re - cb_im * y_im)    # psi_m
        w_im = db_im - (cb_re * y_im + cb_im * y_re)
        psi[2 * (m - 1)] = y_re; psi[2 * (m - 1) + 1] = y_im
        psi[2 * m] = w_re; psi[2 * m + 1] = w_im

        p2 = y_re * y_re + y_im * y_im
        nt = p2; dpt = (x0 + (m - 1) * dx) * p2; act = force[m - 1] * p2
        p2 = w_re * w_re + w_im * w_im
        nb = p2; dpb = (x0 + m * dx) * p2; acb = force[m] * p2

        # ---- back substitution outwards from the middle, both halves at once ----
        for k in range(m - 1):
            j = m - 2 - k
            i = m + 1 + k
            ct_re = work[4 * j]; ct_im = work[4 * j + 1]
            y_re, y_im = (work[4 * j + 2] - (ct_re * y_re - ct_im * y_im),
                          work[4 * j + 3] - (ct_re * y_im + ct_im * y_re))
            cb_re = work[4 * i]; cb_im = work[4 * i + 1]
            w_re, w_im = (work[4 * i + 2] - (cb_re * w_re - cb_im * w_im),
                          work[4 * i + 3] - (cb_re * w_im + cb_im * w_re))
            psi[2 * j] = y_re; psi[2 * j + 1] = y_im
            psi[2 * i] = w_re; psi[2 * i + 1] = w_im
            p2 = y_re * y_re + y_im * y_im
            nt += p2; dpt += (x0 + j * dx) * p2; act += force[j] * p2
            p2 = w_re * w_re + w_im * w_im
            nb += p2; dpb += (x0 + i * dx) * p2; acb += force[i] * p2

        if n - m > m:
            i = n - 1
            cb_re = work[4 * i]; cb_im = work[4 * i + 1]
            w_re, w_im = (work[4 * i + 2] - (cb_re * w_re - cb_im * w_im),
                          work[4 * i + 3] - (cb_re * w_im + cb_im * w_re))
            psi[2 * i] = w_re; psi[2 * i + 1] = w_im
            p2 = w_re * w_re + w_im * w_im
            nb += p2; dpb += (x0 + i * dx) * p2; acb += force[i] * p2

        out_norm[s] = nt + nb
        out_dip[s] = dpt + dpb
        out_acc[s] = act + acb


cdef enum:
    NL = 16             # lanes: segments eliminated side by side
    MIN_ROWS = 8        # rows per lane below which the two-chain path is used

cdef double IM_MIN = 1.0 / 1024      # Im d_j above which the lanes are used without dominance


cdef inline void _fwd_rows(
    const double* up, const double* mid, const double* dn, const double* d0r,
    const double* gxl, const double gk, const double beta_re, const double beta_im,
    double* w, double* st, const bint spikes,
) noexcept nogil:
    # One row of every lane.  With spikes false (every P is exactly zero: the rest
    # of the lanes) P, SD and SV stay as they are and w's P slots are not written.  up/mid/dn/d0r: [re NL][im NL]; w: c', d', P_{j+1} as
    # [c re][c im][d re][d im][p re][p im] x NL; st: ct, dt, P, SD, SV (re, im) x NL.
    # Two passes over the lanes: the divisions of all lanes first (the dependent
    # chain), then what hangs off them, so that the chains of all lanes overlap.
    cdef Py_ssize_t l
    cdef double nb_re, nb_im, b_re, b_im, den_re, den_im, q
    cdef double c_re, c_im, d_re, d_im, p_re, p_im, pn_re, pn_im
    cdef double r_re[NL]
    cdef double r_im[NL]
    for l in range(NL):
        nb_re = up[l] + dn[l]
        nb_im = up[NL + l] + dn[NL + l]
        b_re = d0r[l] + (gxl[l] + gk)
        b_im = d0r[NL + l]
        r_re[l] = (beta_re - b_re) * mid[l] - (beta_im - b_im) * mid[NL + l] - nb_re
        r_im[l] = (beta_re - b_re) * mid[NL + l] + (beta_im - b_im) * mid[l] - nb_im
        den_re = b_re - st[l]
        den_im = b_im - st[NL + l]
        q = 1.0 / (den_re * den_re + den_im * den_im)
        c_re = den_re * q
        c_im = -den_im * q
        st[l] = c_re; st[NL + l] = c_im
        w[l] = c_re; w[NL + l] = c_im
    for l in range(NL):
        c_re = st[l]; c_im = st[NL + l]
        d_re = r_re[l] - st[2 * NL + l]
        d_im = r_im[l] - st[3 * NL + l]
        d_re, d_im = d_re * c_re - d_im * c_im, d_re * c_im + d_im * c_re
        st[2 * NL + l] = d_re; st[3 * NL + l] = d_im
        w[2 * NL + l] = d_re; w[3 * NL + l] = d_im
        if not spikes:
            continue
        p_re = st[4 * NL + l]
        p_im = st[5 * NL + l]
        pn_re = p_im * c_im - p_re * c_re          # P_{j+1} = -P_j c'_j
        pn_im = -(p_re * c_im + p_im * c_re)
        st[6 * NL + l] += p_re * d_re - p_im * d_im     # SD += P_j d'_j
        st[7 * NL + l] += p_re * d_im + p_im * d_re
        st[8 * NL + l] += p_re * pn_re - p_im * pn_im   # SV += P_j P_{j+1}
        st[9 * NL + l] += p_re * pn_im + p_im * pn_re
        st[4 * NL + l] = pn_re; st[5 * NL + l] = pn_im
        w[4 * NL + l] = pn_re; w[5 * NL + l] = pn_im


cdef inline void _back_rows(
    const double* w, const double* a, const double* fr, const double* xl, const double xk,
    double* y, double* out, double* acc, const bint spikes,
) noexcept nogil:
    # psi_j = d'_j - c'_j psi_{j+1} + P_{j+1} a for every lane; acc: norm, x, force sums.
    # spikes false: every P_{j+1} is zero, and w's P slots are not read (nor written).
    cdef Py_ssize_t l
    cdef double y_re, y_im, p2
    for l in range(NL):
        y_re = w[2 * NL + l] - (w[l] * y[l] - w[NL + l] * y[NL + l])
        y_im = w[3 * NL + l] - (w[l] * y[NL + l] + w[NL + l] * y[l])
        if spikes:
            y_re = y_re + (w[4 * NL + l] * a[l] - w[5 * NL + l] * a[NL + l])
            y_im = y_im + (w[4 * NL + l] * a[NL + l] + w[5 * NL + l] * a[l])
        y[l] = y_re; y[NL + l] = y_im
        out[l] = y_re; out[NL + l] = y_im
        p2 = y_re * y_re + y_im * y_im
        acc[l] += p2
        acc[NL + l] += (xl[l] + xk) * p2
        acc[2 * NL + l] += fr[l] * p2


cdef inline void _obs_rows(
    const double* v, const double* fr, const double* xl, const double xk, double* acc,
) noexcept nogil:
    cdef Py_ssize_t l
    cdef double p2
    for l in range(NL):
        p2 = v[l] * v[l] + v[NL + l] * v[NL + l]
        acc[l] += p2
        acc[NL + l] += (xl[l] + xk) * p2
        acc[2 * NL + l] += fr[l] * p2


cdef inline void _cdiv(double a_re, double a_im, double b_re, double b_im, double* o) noexcept nogil:
    cdef double q = 1.0 / (b_re * b_re + b_im * b_im)
    o[0] = (a_re * b_re + a_im * b_im) * q
    o[1] = (a_im * b_re - a_re * b_im) * q


cdef void _lane_step(
    double* psi, const double* d0, double* wk, const Py_ssize_t n,
    const double beta_re, const double beta_im, const double x0, const double dx, const double fld,
    double* out_norm, double* out_dip, double* out_acc,
) noexcept nogil:
    # One step with the lane layout of _cn_steps (psi rows < NL K live in PS, the
    # tail rows in psi itself).
    cdef Py_ssize_t K = n // NL
    cdef Py_ssize_t M = NL * K
    cdef Py_ssize_t R = n - M
    cdef Py_ssize_t k, l, i, t, kz
    cdef bint nonzero
    cdef double* W = _aligned(wk)
    cdef double* PS = W + 6 * M
    cdef double* D0 = PS + 2 * M
    cdef double* FR = D0 + 2 * M
    cdef double* TL = FR + n
    cdef double st[10 * NL]
    cdef double acc[3 * NL]
    cdef double edge[2 * NL]
    cdef double low[2 * NL]
    cdef double gxl[NL]
    cdef double xl[NL]
    cdef double y[2 * NL]
    cdef double A[2 * NL]
    cdef double Lv[2 * NL]
    cdef double al[2 * NL]
    cdef double be[2 * NL]
    cdef double ga[2 * NL]
    cdef double de[2 * NL]
    cdef double o[2]
    cdef double g, gdx, a_re, a_im, b_re, b_im, t_re, t_im, u_re, u_im
    cdef double sd_re, sd_im, sv_re, sv_im, pe_re, pe_im, dk_re, dk_im, ck_re, ck_im
    cdef double ft_re, ft_im, et_re, et_im, nb_re, nb_im
    cdef double tail[4]
    cdef double den_re, den_im, p2, nrm, dip, frc, L_re, L_im, F_re, F_im

    g = -2.0 * dx * dx * fld
    gdx = g * dx
    for l in range(NL):
        xl[l] = x0 + (l * K) * dx
        gxl[l] = g * xl[l]
    for i in range(10 * NL):
        st[i] = 0.0
    for l in range(NL):
        st[4 * NL + l] = 1.0        # P_s = 1

    # ---- forward: every lane eliminates its own rows top-down ----
    # The upper neighbour of row 0 of lane l is the last row of lane l-1; the
    # lower neighbour of the last row of lane l is row 0 of lane l+1.
    edge[0] = 0.0; edge[NL] = 0.0
    for l in range(1, NL):
        edge[l] = PS[2 * NL * (K - 1) + l - 1]
        edge[NL + l] = PS[2 * NL * (K - 1) + NL + l - 1]
    for l in range(NL - 1):
        low[l] = PS[l + 1]; low[NL + l] = PS[NL + l + 1]
    if R:
        low[NL - 1] = psi[2 * M]; low[2 * NL - 1] = psi[2 * M + 1]
    else:
        low[NL - 1] = 0.0; low[2 * NL - 1] = 0.0
    _fwd_rows(edge, PS, &low[0] if K == 1 else PS + 2 * NL, D0, gxl, 0.0, beta_re, beta_im, W, st, True)
    k = 1
    while k < K:
        if k % 32 == 0:
            # |P_j| <= max(1, 1/eta) decays along the lane; below 2**-200 it is
            # zero to every digit that matters, and denormals would be slow.
            nonzero = False
            for l in range(NL):
                if fabs(st[4 * NL + l]) + fabs(st[5 * NL + l]) < 6.2e-61:
                    st[4 * NL + l] = 0.0; st[5 * NL + l] = 0.0
                else:
                    nonzero = True
            if not nonzero:
                break       # every spike is zero from here on: P_{j+1} = -P_j c'_j
        _fwd_rows(PS + 2 * NL * (k - 1), PS + 2 * NL * k, &low[0] if k == K - 1 else PS + 2 * NL * (k + 1),
                  D0 + 2 * NL * k, gxl, gdx * k, beta_re, beta_im, W + 6 * NL * k, st, True)
        k += 1
    kz = k          # rows kz .. K-1 of every lane carry no spike: 120 bytes a point instead of 152
    for k in range(kz, K):
        _fwd_rows(PS + 2 * NL * (k - 1), PS + 2 * NL * k, &low[0] if k == K - 1 else PS + 2 * NL * (k + 1),
                  D0 + 2 * NL * k, gxl, gdx * k, beta_re, beta_im, W + 6 * NL * k, st, False)

    # ---- tail rows M .. n-1, eliminated bottom-up (nothing below row n-1) ----
    for i in range(4):
        tail[i] = 0.0
    for t in range(R):
        i = n - 1 - t
        if i < n - 1:
            nb_re = psi[2 * i + 2]; nb_im = psi[2 * i + 3]
        else:
            nb_re = 0.0; nb_im = 0.0
        if i > M:
            nb_re = nb_re + psi[2 * i - 2]; nb_im = nb_im + psi[2 * i - 1]
        else:
            nb_re = nb_re + PS[2 * NL * (K - 1) + NL - 1]
            nb_im = nb_im + PS[2 * NL * (K - 1) + 2 * NL - 1]
        _eliminate_row(psi, d0, i, nb_re, nb_im, g * x0, gdx, beta_re, beta_im, tail, TL + 4 * (i - M))

    # ---- join the lanes: first row F_p and last row L_p of every lane ----
    #   F_p = SD_p + SV_p L_{p-1} + PE_p F_{p+1},   L_p = dK_p + PE_p L_{p-1} - cK_p F_{p+1},
    # eliminated downwards to L_p = al_p + be_p F_{p+1}, F_p = ga_p + de_p F_{p+1}.
    a_re = 0.0; a_im = 0.0; b_re = 0.0; b_im = 0.0      # L_{p-1} = a + b F_p
    for l in range(NL):
        sd_re = st[6 * NL + l]; sd_im = st[7 * NL + l]
        sv_re = st[8 * NL + l]; sv_im = st[9 * NL + l]
        pe_re = st[4 * NL + l]; pe_im = st[5 * NL + l]
        ck_re = st[l]; ck_im = st[NL + l]
        dk_re = st[2 * NL + l]; dk_im = st[3 * NL + l]
        den_re = 1.0 - (sv_re * b_re - sv_im * b_im)
        den_im = -(sv_re * b_im + sv_im * b_re)
        _cdiv(sd_re + (sv_re * a_re - sv_im * a_im), sd_im + (sv_re * a_im + sv_im * a_re), den_re, den_im, o)
        ga[l] = o[0]; ga[NL + l] = o[1]
        _cdiv(pe_re, pe_im, den_re, den_im, o)
        de[l] = o[0]; de[NL + l] = o[1]
        t_re = a_re + (b_re * ga[l] - b_im * ga[NL + l])
        t_im = a_im + (b_re * ga[NL + l] + b_im * ga[l])
        u_re = b_re * de[l] - b_im * de[NL + l]
        u_im = b_re * de[NL + l] + b_im * de[l]
        a_re = dk_re + (pe_re * t_re - pe_im * t_im)
        a_im = dk_im + (pe_re * t_im + pe_im * t_re)
        b_re = (pe_re * u_re - pe_im * u_im) - ck_re
        b_im = (pe_re * u_im + pe_im * u_re) - ck_im
        al[l] = a_re; al[NL + l] = a_im
        be[l] = b_re; be[NL + l] = b_im
    # The row below the lanes: F_NL = ft - et L_{NL-1} (first tail row), or 0.
    if R:
        ft_re = TL[2]; ft_im = TL[3]
        et_re = TL[0]; et_im = TL[1]
        _cdiv(a_re + (b_re * ft_re - b_im * ft_im), a_im + (b_re * ft_im + b_im * ft_re),
              1.0 + (b_re * et_re - b_im * et_im), (b_re * et_im + b_im * et_re), o)
        L_re = o[0]; L_im = o[1]
        F_re = ft_re - (et_re * L_re - et_im * L_im)
        F_im = ft_im - (et_re * L_im + et_im * L_re)
    else:
        F_re = 0.0; F_im = 0.0
    for t in range(NL):
        l = NL - 1 - t
        Lv[l] = al[l] + (be[l] * F_re - be[NL + l] * F_im)
        Lv[NL + l] = al[NL + l] + (be[l] * F_im + be[NL + l] * F_re)
        u_re = ga[l] + (de[l] * F_re - de[NL + l] * F_im)
        F_im = ga[NL + l] + (de[l] * F_im + de[NL + l] * F_re)
        F_re = u_re
    A[0] = 0.0; A[NL] = 0.0
    for l in range(1, NL):
        A[l] = Lv[l - 1]; A[NL + l] = Lv[NL + l - 1]

    # ---- tail back substitution downwards from row M ----
    nrm = 0.0; dip = 0.0; frc = 0.0
    u_re = Lv[NL - 1]; u_im = Lv[2 * NL - 1]
    for i in range(M, n):
        et_re = TL[4 * (i - M)]; et_im = TL[4 * (i - M) + 1]
        t_re = TL[4 * (i - M) + 2] - (et_re * u_re - et_im * u_im)
        t_im = TL[4 * (i - M) + 3] - (et_re * u_im + et_im * u_re)
        u_re = t_re; u_im = t_im
        psi[2 * i] = u_re; psi[2 * i + 1] = u_im
        p2 = u_re * u_re + u_im * u_im
        nrm += p2; dip += (x0 + i * dx) * p2; frc += (FR + M)[i - M] * p2

    # ---- back substitution upwards in every lane ----
    for i in range(3 * NL):
        acc[i] = 0.0
    k = K - 1
    for l in range(2 * NL):
        y[l] = Lv[l]
        PS[2 * NL * k + l] = Lv[l]
    _obs_rows(PS + 2 * NL * k, FR + NL * k, xl, dx * k, acc)
    for t in range(1, K):
        k = K - 1 - t
        if k >= kz:
            _back_rows(W + 6 * NL * k, A, FR + NL * k, xl, dx * k, y, PS + 2 * NL * k, acc, False)
        else:
            _back_rows(W + 6 * NL * k, A, FR + NL * k, xl, dx * k, y, PS + 2 * NL * k, acc, True)
    for l in range(NL):
        nrm += acc[l]; dip += acc[NL + l]; frc += acc[2 * NL + l]
    out_norm[0] = nrm
    out_dip[0] = dip
    out_acc[0] = frc


cdef inline double* _aligned(double* wk) noexcept nogil:
    # The lane blocks start on a 64-byte boundary (work has 8 doubles of slack).
    return wk + ((64 - (<size_t> wk) % 64) % 64) // 8


cdef void _to_lanes(const double* psi, const double* d0, const double* force, double* wk, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t K = n // NL
    cdef Py_ssize_t M = NL * K
    cdef Py_ssize_t k, l, i
    cdef double* PS = _aligned(wk) + 6 * M
    cdef double* D0 = PS + 2 * M
    cdef double* FR = D0 + 2 * M
    for k in range(K):
        for l in range(NL):
            i = l * K + k
            PS[2 * NL * k + l] = psi[2 * i]; PS[2 * NL * k + NL + l] = psi[2 * i + 1]
            D0[2 * NL * k + l] = d0[2 * i]; D0[2 * NL * k + NL + l] = d0[2 * i + 1]
            FR[NL * k + l] = force[i]
    for i in range(M, n):
        FR[i] = force[i]        # the tail keeps natural order after the lanes


cdef void _from_lanes(double* psi, double* wk, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t K = n // NL
    cdef Py_ssize_t M = NL * K
    cdef Py_ssize_t k, l, i
    cdef double* PS = _aligned(wk) + 6 * M
    for k in range(K):
        for l in range(NL):
            i = l * K + k
            psi[2 * i] = PS[2 * NL * k + l]; psi[2 * i + 1] = PS[2 * NL * k + NL + l]


cdef void _cn_steps(
    double* psi,
    const double* d0,
    double* work,
    const Py_ssize_t n,
    const double beta_re,
    const double beta_im,
    const double x0,
    const double dx,
    const double* field,
    const Py_ssize_t nsteps,
    const double* force,
    double* out_norm,
    double* out_dip,
    double* out_acc,
) noexcept nogil:
    cdef Py_ssize_t s, j
    cdef bint in_lanes = False
    cdef bint accretive = True
    cdef double gcrit = INFINITY
    cdef double a, x
    if not LANES or n < NL * MIN_ROWS:
        _cn_steps_two_chains(psi, d0, work, n, beta_re, beta_im, x0, dx, field, nsteps, force,
                             out_norm, out_dip, out_acc)
        return
    # The lanes are exact algebra; they stay accurate when the spikes P_j (the
    # corner entries 1/det of the inverses of diagonal blocks) stay bounded:
    # |P_j| <= 1 when |d_j| >= 2 for all j (diagonal dominance), and
    # |P_j| <= 1/eta when Im d_j >= eta > 0 (real time: eta >= 4 dx^2/dt, as the
    # field term is real).  |d0_j + g x_j| >= |d0_j| - |g| |x_j| >= 2 for every j
    # when |g| <= gcrit.  The choice depends on d0 and the step's field alone, so
    # any split of the steps into calls gives the same bits.
    for j in range(n):
        a = sqrt(d0[2 * j] * d0[2 * j] + d0[2 * j + 1] * d0[2 * j + 1]) - 2.0
        x = fabs(x0 + j * dx)
        if d0[2 * j + 1] < IM_MIN:
            accretive = False
        if a < 0.0:
            gcrit = -1.0
        elif a < gcrit * x:
            gcrit = a / x
    for s in range(nsteps):
        if accretive or fabs(2.0 * dx * dx * field[s]) <= gcrit:
            if not in_lanes:
                _to_lanes(psi, d0, force, work, n)
                in_lanes = True
            _lane_step(psi, d0, work, n, beta_re, beta_im, x0, dx, field[s],
                       out_norm + s, out_dip + s, out_acc + s)
        else:
            if in_lanes:
                _from_lanes(psi, work, n)
                in_lanes = False
            _cn_steps_two_chains(psi, d0, work, n, beta_re, beta_im, x0, dx, field + s, 1, force,
                                 out_norm + s, out_dip + s, out_acc + s)
    if in_lanes:
        _from_lanes(psi, work, n)

def cn_steps(
    double complex[::1] psi,
    const double complex[::1] d0,
    double complex[::1] work,
    double complex beta,
    double x0,
    double dx,
    const double[::1] field,
    const double[::1] force,
    double[::1] out_norm,
    double[::1] out_dip,
    double[::1] out_acc,
):
    """Advance ``psi`` in place by ``len(field)`` Crank–Nicolson steps.

    Parameters
    ----------
    psi : complex128[n]
        The state; overwritten with the state after the last step.
    d0 : complex128[n]
        ``(1 + c (1/dx**2 + v_j)) / alpha`` with ``alpha = -c/(2 dx**2)``: the
        field-free diagonal of ``(1 + cH)/alpha``.
    work : complex128[work_length(n)]
        Scratch space (the elimination coefficients, the lane-ordered copies).
    beta : complex
        ``2/alpha``.
    x0, dx : float
        The grid is ``x_j = x0 + j*dx``.
    field : float64[nsteps]
        ``F`` at the middle of each step (zeros for none).
    force : float64[n]
        ``f_j`` whose expectation is accumulated (``-dV/dx`` for the acceleration).
    out_norm, out_dip, out_acc : float64[>= nsteps]
        Per step, after the step: ``sum |psi_j|^2``, ``sum x_j |psi_j|^2`` and
        ``sum f_j |psi_j|^2`` (no factor ``dx``).

    Notes
    -----
    Preconditions, not checked: ``n >= 2``; ``d0`` and ``force`` have length
    ``n`` and ``work`` ``work_length(n)``; the outputs have length ``>= len(field)``; ``psi``,
    ``work`` and the outputs overlap neither each other nor the inputs; every
    pivot of the elimination is non-zero, which holds when ``1 + cH`` is
    non-singular and diagonally dominant or its Hermitian part positive
    definite (``c = i dt/2`` with ``Im v <= 0``, or ``c = tau/2 > 0`` with
    ``Re v > -2/tau``).
    """
    cdef Py_ssize_t n = psi.shape[0]
    cdef Py_ssize_t nsteps = field.shape[0]
    if nsteps == 0:
        return
    with nogil:
        _cn_steps(
            <double*> &psi[0], <const double*> &d0[0], <double*> &work[0], n,
            beta.real, beta.imag, x0, dx,
            &field[0], nsteps, &force[0], &out_norm[0], &out_dip[0], &out_acc[0],
        )


def work_length(Py_ssize_t n):
    """The length of the complex128 ``work`` array :func:`cn_steps` needs for ``n`` points."""
    if not LANES or n < NL * MIN_ROWS:
        return 2 * n
    return (11 * n + 69) // 2


#: Whether this build eliminates in lanes (AVX2 + FMA) or always with two chains.
USES_LANES = bool(LANES)
