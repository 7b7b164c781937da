"""Sphinx configuration: MyST markdown pages and an API page generated from docstrings."""

from __future__ import annotations

import vxsum

project = "vxsum"
author = "vxsum developers"
release = vxsum.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_type_aliases = {"Buffer": "vxsum.Buffer", "Address": "vxsum.Address"}
html_theme = "furo"
html_title = "vxsum"
nitpicky = False
