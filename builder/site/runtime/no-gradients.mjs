// Stands in for @tensorflow/tfjs-core/dist/register_all_gradients in the runtime
// bundle (esbuild --alias, see the Makefile). tfjs-layers imports that module so
// that models can be trained; a site only runs inference, which needs no gradients.
