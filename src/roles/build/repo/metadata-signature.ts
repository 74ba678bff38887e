import type { SignForm } from '../../../protocol/signform.js';
import type { SignShape } from './sign-tool.js';

/**
 * One signature a staged repository needs before it can go live: `input` (in the staged
 * tree) signed into `output` (also in the staged tree). `form` is what the signature binds,
 * so the publish log names formDigest(form, bytes of input) under `label`.
 */
export interface MetadataSignature {
  input: string;
  output: string;
  shape: SignShape;
  form: SignForm;
  label: string;
}
