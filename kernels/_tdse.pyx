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

The caller precomputes ``d0`` and ``beta``; ``x_j`` is computed as
``x0 + j*dx`` rather than read (one array fewer to stream).

The right-hand-side product and the Thomas forward sweep are one loop; the
back substitution is a second loop that also accumulates the observables.
The forward sweep is a chain of dependent complex divisions, so its speed is
set by latency, not bandwidth: the system is eliminated from both ends at
once ("burn at both ends"), which gives the CPU two independent chains to
overlap, and the halves are joined by a 2x2 solve in the middle.  The
arithmetic and its order depend only on the inputs, so results are bitwise
reproducible on one machine and build (which checkpoint/restart relies on).
"""


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
    # Complex arrays are interleaved (re, im) doubles: psi[2j], psi[2j+1].
    # work holds (c'_j, d'_j) side by side: work[4j .. 4j+3], one stream.
    # The forward sweep leaves psi untouched, so old neighbours are re-read
    # from cache instead of carried in registers (x86-64 has only 16 SSE
    # registers; spilling a value of the dependent chain costs more than the
    # load).
    cdef Py_ssize_t m = n // 2          # top half [0, m), bottom half [m, n)
    cdef Py_ssize_t s, k, j, i
    cdef double g, gx0, gdx
    cdef double ct_re, ct_im, dt_re, dt_im      # c'_{j-1}, d'_{j-1} (top)
    cdef double cb_re, cb_im, db_re, db_im      # e'_{i+1}, f'_{i+1} (bottom)
    cdef double nb_re, nb_im, b_re, b_im, r_re, r_im, den_re, den_im, q
    cdef double y_re, y_im, w_re, w_im, u_re, u_im, v_re, v_im, g_re, g_im
    cdef double nt, nb, dpt, dpb, act, acb, p2

    for s in range(nsteps):
        # The field's share of the diagonal is real whatever c is: c/alpha = -2 dx^2.
        g = -2.0 * dx * dx * field[s]
        gx0 = g * x0
        gdx = g * dx
        ct_re = 0.0; ct_im = 0.0; dt_re = 0.0; dt_im = 0.0
        cb_re = 0.0; cb_im = 0.0; db_re = 0.0; db_im = 0.0

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
            b_re = d0[2 * j] + (gx0 + gdx * j)
            b_im = d0[2 * j + 1]
            r_re = (beta_re - b_re) * psi[2 * j] - (beta_im - b_im) * psi[2 * j + 1] - nb_re
            r_im = (beta_re - b_re) * psi[2 * j + 1] + (beta_im - b_im) * psi[2 * j] - nb_im
            # c'_j = 1/(d_j - c'_{j-1});  d'_j = (r_j - d'_{j-1}) c'_j
            den_re = b_re - ct_re
            den_im = b_im - ct_im
            q = 1.0 / (den_re * den_re + den_im * den_im)
            ct_re = den_re * q
            ct_im = -den_im * q
            r_re = r_re - dt_re
            r_im = r_im - dt_im
            dt_re = r_re * ct_re - r_im * ct_im
            dt_im = r_re * ct_im + r_im * ct_re
            work[4 * j] = ct_re; work[4 * j + 1] = ct_im
            work[4 * j + 2] = dt_re; work[4 * j + 3] = dt_im

            # bottom, row i, eliminating upwards
            if i < n - 1:
                nb_re = psi[2 * i - 2] + psi[2 * i + 2]
                nb_im = psi[2 * i - 1] + psi[2 * i + 3]
            else:
                nb_re = psi[2 * i - 2]
                nb_im = psi[2 * i - 1]
            b_re = d0[2 * i] + (gx0 + gdx * i)
            b_im = d0[2 * i + 1]
            r_re = (beta_re - b_re) * psi[2 * i] - (beta_im - b_im) * psi[2 * i + 1] - nb_re
            r_im = (beta_re - b_re) * psi[2 * i + 1] + (beta_im - b_im) * psi[2 * i] - nb_im
            den_re = b_re - cb_re
            den_im = b_im - cb_im
            q = 1.0 / (den_re * den_re + den_im * den_im)
            cb_re = den_re * q
            cb_im = -den_im * q
            r_re = r_re - db_re
            r_im = r_im - db_im
            db_re = r_re * cb_re - r_im * cb_im
            db_im = r_re * cb_im + r_im * cb_re
            work[4 * i] = cb_re; work[4 * i + 1] = cb_im
            work[4 * i + 2] = db_re; work[4 * i + 3] = db_im

        if n - m > m:
            # Odd n: the bottom half has one row more, i = m (0 < m < n-1).
            i = m
            nb_re = psi[2 * i - 2] + psi[2 * i + 2]
            nb_im = psi[2 * i - 1] + psi[2 * i + 3]
            b_re = d0[2 * i] + (gx0 + gdx * i)
            b_im = d0[2 * i + 1]
            r_re = (beta_re - b_re) * psi[2 * i] - (beta_im - b_im) * psi[2 * i + 1] - nb_re
            r_im = (beta_re - b_re) * psi[2 * i + 1] + (beta_im - b_im) * psi[2 * i] - nb_im
            den_re = b_re - cb_re
            den_im = b_im - cb_im
            q = 1.0 / (den_re * den_re + den_im * den_im)
            cb_re = den_re * q
            cb_im = -den_im * q
            r_re = r_re - db_re
            r_im = r_im - db_im
            db_re = r_re * cb_re - r_im * cb_im
            db_im = r_re * cb_im + r_im * cb_re
            work[4 * i] = cb_re; work[4 * i + 1] = cb_im
            work[4 * i + 2] = db_re; work[4 * i + 3] = db_im

        # ---- join the halves: psi_{m-1} = D - C psi_m and psi_m = F - E psi_{m-1} ----
        # (ct, dt) are c'_{m-1}, d'_{m-1}; (cb, db) are e'_m, f'_m.
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
    work : complex128[2n]
        Scratch space (the elimination coefficients ``c'_j, d'_j`` side by side).
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
    ``n`` and ``work`` ``2n``; the outputs have length ``>= len(field)``; ``psi``,
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
