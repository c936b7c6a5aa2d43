"""The transparency portal: server-rendered German pages for citizens and staff about what the
city shares, with whom, why and how often, plus the DCAT-AP.de catalog for open-data portals.

Pure core: ``classification``, ``sentences``, ``glossary``, ``lineage``, ``charts``, ``ropa``
(the Art. 30 record), ``dcat``, ``audit`` (the fold of ``hub.audit``), ``deadletters``,
``changes``, ``facts`` (the catalog as the pages see it), ``pages`` (one dict a page, for HTML
and its JSON twin). I/O at the edges: ``follow`` (Kafka), ``app`` (HTTP), ``service``, ``cli``.
"""
