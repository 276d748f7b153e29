// The bundle's entry point. The page runs the bundle as a classic script and the
// inference worker import()s it as a module, where an IIFE's top-level `var tf`
// would stay module-scoped; so the namespace goes on globalThis explicitly, as
// TF.js's own UMD scripts do.
import * as tf from './tf.mjs';

globalThis.tf = tf;
