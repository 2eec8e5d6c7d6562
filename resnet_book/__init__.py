"""resnet_book: "Deep Residual Learning for Image Recognition" (He et al., CVPR 2016), reproduced.

Modules, one per concept of the book: ``models`` (the networks), ``flops`` (parameters and FLOPs),
``paper`` (the paper's numbers), ``data`` (CIFAR-10 and its augmentation), ``train`` (the recipe and
trainer), ``packed`` (runs of one depth trained as one network), ``runs`` (recorded runs), ``analysis`` (Fig. 7 responses, gradient norms), ``plots``,
``widgets``; ``python -m resnet_book`` is the command line, ``python -m resnet_book.bench`` the benchmark.
"""

__version__ = "0.1.0"
