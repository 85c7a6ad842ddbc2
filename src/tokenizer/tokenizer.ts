// Text <-> token ids for a model folder: tokenizer.json through @huggingface/tokenizers, plus
// tokenizer_config.json (bos/eos, add_bos_token, chat_template) and chat templates through @huggingface/jinja.
//
// Text from users and datasets is encoded with special tokens NOT parsed: "</s>" typed in a row stays the
// characters <, /, s, > and never becomes EOS. The library always splits on added tokens, so plain text goes
// through a second tokenizer built without the special added tokens (what Hugging Face calls
// split_special_tokens); decoding uses the full one. In chat prompts only the template's own text may produce
// special tokens: the template is rendered once with sentinels in place of message contents to see where the
// contents go, and the contents are then encoded as plain text.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { readText, type ModelFiles } from '../model/files';
import { ChatTemplateError, TokenizerLoadError } from './errors';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface TextTokenizer {
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly hasChatTemplate: boolean;
  /** Special tokens in `text` are not parsed. `addBos` defaults to what the model's tokenizer does. */
  encode(text: string, options?: { addBos?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecial?: boolean }): string;
  /** The chat template rendered as text (for previews). */
  formatChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): string;
  /** The chat template rendered and encoded: its special tokens parsed, message contents not. */
  encodeChat(messages: ChatMessage[], options?: { addGenerationPrompt?: boolean }): number[];
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
}

interface TokenizerJson {
  added_tokens?: AddedTokenJson[];
  [key: string]: unknown;
}

type TokenizerConfig = Record<string, unknown>;

/** The model's tokenizer, or null when the folder has no tokenizer.json. */
export async function loadTokenizer(files: ModelFiles): Promise<TextTokenizer | null> {
  const names = new Set(files.list());
  if (!names.has('tokenizer.json')) return null;
  const json = parseJson<TokenizerJson>(await readText(files, 'tokenizer.json'), 'tokenizer.json', files.label);
  const config = names.has('tokenizer_config.json')
    ? parseJson<TokenizerConfig>(await readText(files, 'tokenizer_config.json'), 'tokenizer_config.json', files.label)
    : {};
  const template = names.has('chat_template.jinja') ? await readText(files, 'chat_template.jinja') : chatTemplateOf(config);
  try {
    return new HfTextTokenizer(json, config, template);
  } catch (e) {
    throw new TokenizerLoadError(files.label, (e as Error).message);
  }
}

/** Private-use characters around a message index: text no template writes and no content is likely to hold. */
const sentinel = (i: number) => `\uE000${i}\uE001`;
const sentinelPattern = /\uE000(\d+)\uE001/;

class HfTextTokenizer implements TextTokenizer {
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly hasChatTemplate: boolean;
  private readonly full: Tokenizer;
  private readonly plain: Tokenizer;
  private readonly addBosByDefault: boolean;
  private readonly template: Template | null;
  private readonly specials: Map<string, AddedTokenJson>;
  /** Matches any special token's text, longest first; null when there are none. */
  private readonly specialPattern: RegExp | null;
  private readonly tokenStrings: Record<string, string>;

  constructor(json: TokenizerJson, config: TokenizerConfig, template: string | null) {
    const added = json.added_tokens ?? [];
    this.full = new Tokenizer(json, config);
    this.plain = new Tokenizer({ ...json, added_tokens: added.filter((t) => !t.special) }, config);
    this.specials = new Map(added.filter((t) => t.special).map((t) => [t.content, t]));
    const alternatives = [...this.specials.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialPattern = alternatives.length ? new RegExp(`(${alternatives.join('|')})`) : null;

    this.tokenStrings = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const value = tokenString(config[key]);
      if (value !== null) this.tokenStrings[key] = value;
    }
    const idOf = (token: string | undefined) => (token === undefined ? undefined : this.full.token_to_id(token));
    // What the post-processor puts before an empty text is the BOS it adds by default (if any).
    const postBos = this.full.encode('', { add_special_tokens: true }).ids[0] ?? null;
    this.bosId = idOf(this.tokenStrings.bos_token) ?? postBos;
    const eos = idOf(this.tokenStrings.eos_token);
    this.eosIds = eos === undefined ? [] : [eos];
    const addBos = config.add_bos_token;
    this.addBosByDefault = typeof addBos === 'boolean' ? addBos : postBos !== null && postBos === this.bosId;

    try {
      this.template = template ? new Template(template) : null;
    } catch (e) {
      throw new Error(`its chat template does not parse (${(e as Error).message})`);
    }
    this.hasChatTemplate = this.template !== null;
  }

  encode(text: string, { addBos = this.addBosByDefault }: { addBos?: boolean } = {}): number[] {
    const ids = text ? this.plain.encode(text, { add_special_tokens: false }).ids : [];
    return addBos && this.bosId !== null ? [this.bosId, ...ids] : ids;
  }

  decode(ids: number[], { skipSpecial = false }: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.full.decode(ids, { skip_special_tokens: skipSpecial });
  }

  formatChat(messages: ChatMessage[], { addGenerationPrompt = true }: { addGenerationPrompt?: boolean } = {}): string {
    return this.render(messages, addGenerationPrompt);
  }

  encodeChat(messages: ChatMessage[], { addGenerationPrompt = true }: { addGenerationPrompt?: boolean } = {}): number[] {
    const rendered = this.render(messages, addGenerationPrompt);
    const withSentinels = this.render(
      messages.map((m, i) => ({ ...m, content: sentinel(i) })),
      addGenerationPrompt,
    );
    // Sections of plain text between template special tokens, each encoded like Hugging Face would encode the
    // text between two added tokens.
    const pieces: ({ text: string } | { special: AddedTokenJson })[] = [];
    const addText = (text: string) => {
      const last = pieces.at(-1);
      if (last && 'text' in last) last.text += text;
      else pieces.push({ text });
    };
    for (const segment of this.alignContents(rendered, withSentinels, messages)) {
      if (!segment.fromTemplate || !this.specialPattern) {
        addText(segment.text);
        continue;
      }
      segment.text.split(this.specialPattern).forEach((part, k) => {
        if (k % 2 === 1) pieces.push({ special: this.specials.get(part)! });
        else addText(part);
      });
    }
    pieces.forEach((piece, k) => {
      if (!('special' in piece)) return;
      const before = pieces[k - 1];
      const after = pieces[k + 1];
      if (piece.special.lstrip && before && 'text' in before) before.text = before.text.trimEnd();
      if (piece.special.rstrip && after && 'text' in after) after.text = after.text.trimStart();
    });
    return pieces.flatMap((piece) => ('special' in piece ? [piece.special.id] : this.encode(piece.text, { addBos: false })));
  }

  private render(messages: ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.template) throw new ChatTemplateError('this model has no chat template');
    try {
      return this.template.render({ ...this.tokenStrings, messages, add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      throw new ChatTemplateError(`the chat template raised "${(e as Error).message}"`);
    }
  }

  /**
   * Splits the real rendering into template text and message contents, using the rendering with sentinels
   * as the map. A template may trim a content; any other change to it (or to the template's own text,
   * depending on the content) cannot be told apart from the template's text, so it is refused.
   */
  private alignContents(rendered: string, withSentinels: string, messages: ChatMessage[]) {
    const parts = withSentinels.split(sentinelPattern); // template text at even k, message index at odd k
    const segments: { text: string; fromTemplate: boolean }[] = [];
    let at = 0;
    for (let k = 0; k < parts.length; k++) {
      if (k % 2 === 0) {
        if (!rendered.startsWith(parts[k], at)) break;
        segments.push({ text: parts[k], fromTemplate: true });
        at += parts[k].length;
        continue;
      }
      const content = messages[Number(parts[k])].content;
      const next = parts[k + 1] ?? '';
      const fits = (text: string) => rendered.startsWith(text, at) && rendered.startsWith(next, at + text.length);
      const text = [content, content.trim()].find(fits);
      if (text === undefined) break;
      segments.push({ text, fromTemplate: false });
      at += text.length;
    }
    if (at !== rendered.length || segments.length !== parts.length) {
      throw new ChatTemplateError('the chat template changes message text in a way that cannot be tokenized safely');
    }
    return segments;
  }
}

function chatTemplateOf(config: TokenizerConfig): string | null {
  const template = config.chat_template;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template as { name?: string; template?: string }[];
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/** tokenizer_config.json writes special tokens as strings or as {"content": ...} objects. */
function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

function parseJson<T>(text: string, file: string, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TokenizerLoadError(where, `${file} is not JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenizerLoadError(where, `${file} is not a JSON object`);
  return value as T;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Tokens decoded before each one, so SentencePiece's "▁is" reads " is" mid-text (alone it decodes to "is"). */
const TOKEN_TEXT_CONTEXT = 4;

/**
 * Each token's text as it reads in its context, for previews: joined, they give the decoded text. Byte-fallback
 * pieces of one character show the character on its last byte.
 */
export function tokenTexts(tokenizer: TextTokenizer, ids: readonly number[]): string[] {
  return ids.map((_, i) => {
    const from = Math.max(0, i - TOKEN_TEXT_CONTEXT);
    const before = tokenizer.decode(ids.slice(from, i), { skipSpecial: false });
    const through = tokenizer.decode(ids.slice(from, i + 1), { skipSpecial: false });
    // The first bytes of a character a later token completes decode as a placeholder: show nothing yet.
    if (through.endsWith('\uFFFD') && i + 1 < ids.length) return '';
    let common = 0;
    while (common < before.length && before[common] === through[common]) common++;
    return through.slice(common);
  });
}
