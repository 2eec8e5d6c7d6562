"""resnet_book: "Deep Residual Learning for Image Recognition" (He et al., CVPR 2016), reproduced.

Modules, one per concept of the book: ``models`` (the networks), ``flops`` (parameters and FLOPs),
``paper`` (the paper's numbers), ``data`` (CIFAR-10 and its augmentation), ``train`` (the recipe and
trainer), ``packed`` (runs of one depth trained as one network), ``runs`` (recorded runs), ``analysis`` (Fig. 7 responses, gradient norms), ``plots``,
``widgets``, ``live`` (the chapters' live runs), ``bench`` (the trainer's speed and its records); ``python -m resnet_book`` is the command line
(``train``, ``sweep``, ``bench``, ``imagenet``).
"""

__version__ = "0.1.0"
