"""Training: operations that train a model from a built-in or folder dataset and register it
in the model store (GAN, VAE, denoising autoencoder, RBM, U-Net, transfer-learned classifier).
The loop, checkpoints and registration they share are in :mod:`imgstudio.ops._training`."""
