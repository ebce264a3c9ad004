/**
 * The public half of ClinPrompt's release key. Packs it signs, such as the meta-prompt shipped with
 * the embedded backbone (native-models/embedded/meta-prompt.cpack), are trusted on every workstation
 * without `clinprompt pack keys add`. The private half never enters the repository: whoever ships a
 * release keeps it, and `clinprompt backbone ship-meta-prompt --sign-key <pem>` signs with it.
 */
import { keyIdOf } from './manifest.js';

/** SPKI DER, base64 (Ed25519). */
export const RELEASE_PUBLIC_KEY = 'MCowBQYDK2VwAyEAp89Ye3uSM6AYvNPZbfxbYuUaTQYe8SvGYRfpkS5RZKo=';

export const RELEASE_KEY_ID = keyIdOf(Buffer.from(RELEASE_PUBLIC_KEY, 'base64'));

/** The creator a release pack's manifest names. */
export const RELEASE_SIGNER = 'ClinPrompt release';
