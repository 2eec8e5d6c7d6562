"""resnet_book: "Deep Residual Learning for Image Recognition" (He et al., CVPR 2016), reproduced.

Modules, one per concept of the book, in the layers of the README (each imports only from its own or those
above): facts: ``paper`` (the paper's numbers), ``models`` (the networks), ``flops`` (parameters and FLOPs),
``data`` (CIFAR-10 and its augmentation), ``provenance``, ``tables``; the recipe: ``recipe`` (Sec. 4.2 as a
``Config``, Sec. 3.4 as an ``ImageNetConfig``), ``options`` (the command line's number types); records:
``records`` (one spec style, reader and atomic writer for every record), ``runs`` (recorded runs, CIFAR-10 and
ImageNet), ``benchmarks`` (the trainer's recorded speed), ``estimates`` (every cost the book states, from the
benchmarks, or a step timed on the reader's CPU); the engine: ``train`` (the training loop), ``checkpoints``
(claimed once before a run trains, saved, loaded), ``packed`` (runs of one depth trained as one network),
``sweeps``, ``bench`` (the trainer's speed and its records), ``imagenet`` (Sec. 3.4's loop,
``train_imagenet``); pages: ``analysis`` (Fig. 7 responses, gradient norms), ``report``, ``diagrams``,
``plots``, ``widgets``, ``live`` (the chapters' live runs); jobs: ``jobs`` (a run from its name to its record,
``train_and_record``). ``python -m resnet_book`` is the command line (``train``, ``sweep``, ``bench``,
``imagenet``).
"""

__version__ = "0.1.0"
