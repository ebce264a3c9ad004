import { openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openBackbone } from '../../../src-main/backbone/load.js';
import { applyChatTemplate } from '../../../src-main/backbone/tokenizer/chat-template.js';
import { makeTempDir } from '../../support/temp.js';
import { TINY_CONFIG, writeTinyLlamaFolder } from '../../support/tiny-llama.js';

describe('Hugging Face folder loading', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir()));
  afterEach(() => tmp.cleanup());
  const sub = (name: string) => path.join(tmp.dir, name);

  it('opens a folder: config, checked tensors, tokenizer, stop ids', () => {
    writeTinyLlamaFolder(tmp.dir);
    const b = openBackbone(tmp.dir, { cacheDir: sub('cache') });
    expect(b.format).toBe('huggingface');
    expect(b.config).toEqual(TINY_CONFIG);
    expect(b.tensors.size).toBe(1 + 2 * 9 + 2);
    expect(b.weightDType).toBe('F32');
    expect(b.tokenizer.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(b.eosTokenIds).toEqual([2]);
  });

  it('loads sharded and bf16 copies of the same weights with the same config and different fingerprints', () => {
    writeTinyLlamaFolder(sub('f32'));
    writeTinyLlamaFolder(sub('sharded'), { shards: 3 });
    writeTinyLlamaFolder(sub('bf16'), { dtype: 'BF16' });
    const [f32, sharded, bf16] = ['f32', 'sharded', 'bf16'].map((d) => openBackbone(sub(d)));
    expect(sharded!.weights.headers).toHaveLength(3);
    expect(bf16!.weightDType).toBe('BF16');
    expect(sharded!.config).toEqual(f32!.config);
    const name = 'model.layers.1.mlp.down_proj.weight';
    expect(sharded!.weights.readFloat32(name)).toEqual(f32!.weights.readFloat32(name));
    // same tensor headers and bytes, only split differently: the fingerprint does not depend on sharding
    expect(sharded!.fingerprint()).toBe(f32!.fingerprint());
    expect(bf16!.fingerprint()).not.toBe(f32!.fingerprint());
  });

  it('fingerprint: stable across opens, changed by one weight byte', () => {
    writeTinyLlamaFolder(tmp.dir);
    const first = openBackbone(tmp.dir).fingerprint();
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(openBackbone(tmp.dir).fingerprint()).toBe(first);
    const b = openBackbone(tmp.dir);
    const t = b.tensors.get('model.norm.weight')!;
    const fd = openSync(t.file, 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, t.offset + t.byteLength - 1); // last byte: inside a sampled window
    closeSync(fd);
    expect(openBackbone(tmp.dir).fingerprint()).not.toBe(first);
  });

  it('refuses a folder whose weights do not match its config', () => {
    writeTinyLlamaFolder(tmp.dir);
    const cfg = JSON.parse(readFileSync(sub('config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(sub('config.json'), JSON.stringify({ ...cfg, intermediate_size: 64 }));
    expect(() => openBackbone(tmp.dir)).toThrow(/mlp\.gate_proj\.weight has shape \[48, 32\] but .*implies \[64, 32\]/);
    writeFileSync(sub('config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    expect(() => openBackbone(tmp.dir)).toThrow(/lack 9 tensor\(s\).*model\.layers\.2\./);
  });

  it('refuses unsupported architectures and missing files with clear errors', () => {
    writeTinyLlamaFolder(tmp.dir);
    const cfg = JSON.parse(readFileSync(sub('config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      sub('config.json'),
      JSON.stringify({ ...cfg, architectures: ['GptOssForCausalLM'], model_type: 'gpt_oss' }),
    );
    expect(() => openBackbone(tmp.dir)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    writeFileSync(sub('config.json'), JSON.stringify(cfg));
    rmSync(sub('tokenizer.json'));
    expect(() => openBackbone(tmp.dir)).toThrow(/has no tokenizer\.json/);
    rmSync(sub('model.safetensors'));
    expect(() => openBackbone(tmp.dir)).toThrow(/has no model\.safetensors/);
    expect(() => openBackbone(sub('nowhere'))).toThrow(/does not exist/);
    writeFileSync(sub('config.json'), '{"broken":');
    expect(() => openBackbone(tmp.dir)).toThrow(/config\.json is not valid JSON/);
  });

  it('renders the chat template of tokenizer_config.json', () => {
    writeTinyLlamaFolder(tmp.dir);
    const b = openBackbone(tmp.dir);
    const text = applyChatTemplate(b.tokenizer.config, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Summarize' },
    ]);
    expect(text).toBe('<s>User: Hi\nAssistant: Hello</s>\nUser: Summarize\nAssistant:');
    expect(() => applyChatTemplate({}, [])).toThrow(/has no chat_template/);
    const strict = {
      chat_template:
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}ok",
    };
    expect(() => applyChatTemplate(strict, [{ role: 'assistant', content: 'x' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/refused these 1 messages/) }),
    );
  });
});
