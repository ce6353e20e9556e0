"""The wire: KashFlow's SOAP API spoken with no knowledge of publishing.

Pure modules build and read messages (:mod:`.codec`, :mod:`.operations`, :mod:`.answer`,
:mod:`.wire`, :mod:`.errormap`); :mod:`.exchange` does one HTTP exchange with a deadline and a
size cap; the callers send requests with retries and the AutoAuth retry.
"""
