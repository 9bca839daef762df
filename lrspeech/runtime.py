"""Process-wide runtime settings shared by every lrspeech entry point.

Usage: python -c "from lrspeech.runtime import limit_threads; limit_threads()"

Why: on small VMs torch's OpenMP pool spins on idle cores and makes training 3-13x slower
and erratic. One thread per process (the recipe runs several processes) is the fast setting;
a user who exports OMP_NUM_THREADS keeps their own value.
"""

import os

DEFAULT_THREADS = 1


def limit_threads(default: int = DEFAULT_THREADS) -> int:
    """Set OMP/MKL thread counts (unless the user set them) and torch's pools; return the count."""
    n = int(os.environ.setdefault("OMP_NUM_THREADS", str(default)))
    os.environ.setdefault("MKL_NUM_THREADS", str(n))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:  # the data and text layers work without torch
        return n
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
