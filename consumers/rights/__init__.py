"""Data-subject rights (Art. 15, 17, 19 DSGVO): ``hub rights access|erase|confirm|status``.

The router's receipts (``hub.receipts``, keyed hashes of each delivered event's direct
identifiers) say which recipient received data about a person; the agreement versions
(``hub.agreements``) say in which form. An access request is answered from them as a German
letter draft or JSON; an erasure request goes to each recipient on its own delivery topic, in
its own pseudonyms; every request is recorded in ``hub.rights``.

Pure core: ``person`` (identifiers, keyed hashes), ``lookup`` (receipts → hits), ``versions``,
``forms``, ``report``, ``letter``, ``erasure``, ``trail``, ``copies``, ``metrics``; I/O at the
edges: ``broker`` (Kafka, registry), ``service`` (the requests end to end), ``cli``.
"""
