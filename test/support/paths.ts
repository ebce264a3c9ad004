import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, and ../shared beside it (public datasets and the stories260K model). */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');
export const DIST_DIR = path.join(REPO_ROOT, 'dist');
