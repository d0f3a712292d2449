"""The ``vr-brian`` application: its command line (:mod:`vr_brian_app.cli`) and the demo.

It stands above the library (:mod:`vr_brian`) and the trainer (:mod:`gradients`), which never
import it: ``vr-brian train`` (:mod:`vr_brian_app.train`), ``vr-brian genn``
(:mod:`vr_brian_app.genn`), ``vr-brian demo`` (:mod:`vr_brian_app.demo`), and ``vr-brian study``,
which hands over to :mod:`studies.cli`.
"""
