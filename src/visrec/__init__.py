"""visrec: does what a product looks like make recommendations better?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("visrec")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
