#!/usr/bin/env node
// The `clinprompt` command: runs the built CLI (npm run build writes dist/).
import('../dist/main/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/main')) {
    process.stderr.write('clinprompt: the app is not built yet. Run `npm run setup` (or `npm run build`) first.\n');
    process.exitCode = 2;
  } else {
    throw error;
  }
});
