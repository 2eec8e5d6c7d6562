// tfjs-core, the gradients of its ops (the union package @tensorflow/tfjs registers them the same way),
// and the CPU backend: the global `tf` of the book's lab.
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import "@tensorflow/tfjs-backend-cpu";
export * from "@tensorflow/tfjs-core";
