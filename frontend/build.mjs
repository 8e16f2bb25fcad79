// Bundles src/index.jsx into ../static/segments/builder/builder.{js,css} (committed).
import * as esbuild from "esbuild";

const watch = process.argv.includes("--watch");
const options = {
  entryPoints: { builder: "src/index.jsx" },
  outdir: "../static/segments/builder",
  bundle: true,
  minify: !watch,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  loader: { ".js": "jsx" },
  define: { "process.env.NODE_ENV": watch ? '"development"' : '"production"' },
  legalComments: "eof",
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
