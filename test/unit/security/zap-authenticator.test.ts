import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { Metrics } from '../../../src/core/metrics.js';
import { generateCurveKeyPair } from '../../../src/security/curve-key-pair.js';
import { z85Decode } from '../../../src/security/z85.js';
import { parseZapRequest, ZapAuthenticator, type ZapAuthenticatorOptions, type ZapRequest } from '../../../src/security/zap-authenticator.js';

const bytes = (s: string) => new Uint8Array(Buffer.from(s));

function curveRequest(publicKey: string, domain = 'global'): ZapRequest {
  return { version: '1.0', requestId: bytes('1'), domain, address: '127.0.0.1', mechanism: 'CURVE', credentials: [z85Decode(publicKey)] };
}

function setup(options: Partial<ZapAuthenticatorOptions>) {
  const logger = new RecordingLogger();
  const metrics = new Metrics();
  const zap = new ZapAuthenticator({ logger, metrics, ...options });
  return { zap, logger, metrics };
}

describe('ZapAuthenticator.decide', () => {
  it('should accept an allowed CURVE key and count it', async () => {
    const client = generateCurveKeyPair();
    const { zap, metrics } = setup({ isAllowed: (key) => key === client.publicKey });
    assert.deepEqual(await zap.decide(curveRequest(client.publicKey)), { status: '200' });
    assert.equal(await metrics.value('makai_zap_acceptances_total'), 1);
  });

  it('should refuse an unknown key, log its public key and address, and count the reason', async () => {
    const client = generateCurveKeyPair();
    const { zap, logger, metrics } = setup({ isAllowed: async () => false });
    const decision = await zap.decide(curveRequest(client.publicKey));
    assert.deepEqual(decision, { status: '400', reason: 'unknown-key' });
    assert.equal(await metrics.value('makai_zap_rejections_total', { reason: 'unknown-key' }), 1);
    const record = logger.records.find((r) => r.msg === 'ZAP refused a client');
    assert.equal(record?.['publicKey'], client.publicKey);
    assert.equal(record?.['address'], '127.0.0.1');
    assert.ok(!JSON.stringify(logger.records).includes(client.secretKey));
  });

  it('should ask the allow-list on every request, so changes apply without restart', async () => {
    const client = generateCurveKeyPair();
    const allowed = new Set<string>();
    const { zap } = setup({ isAllowed: (key) => allowed.has(key) });
    assert.equal((await zap.decide(curveRequest(client.publicKey))).status, '400');
    allowed.add(client.publicKey);
    assert.equal((await zap.decide(curveRequest(client.publicKey))).status, '200');
  });

  it('should accept any CURVE key in allowAny mode but still refuse other mechanisms', async () => {
    const { zap, metrics } = setup({ allowAny: true });
    assert.equal((await zap.decide(curveRequest(generateCurveKeyPair().publicKey))).status, '200');
    const nullRequest: ZapRequest = { ...curveRequest(generateCurveKeyPair().publicKey), mechanism: 'NULL', credentials: [] };
    assert.equal((await zap.decide(nullRequest)).status, '400');
    assert.equal(await metrics.value('makai_zap_rejections_total', { reason: 'mechanism' }), 1);
  });

  it('should refuse PLAIN without logging its password', async () => {
    const { zap, logger } = setup({ allowAny: true });
    const plain: ZapRequest = { ...curveRequest(generateCurveKeyPair().publicKey), mechanism: 'PLAIN', credentials: [bytes('admin'), bytes('hunter2')] };
    assert.deepEqual(await zap.decide(plain), { status: '400', reason: 'mechanism' });
    assert.ok(!JSON.stringify(logger.records).includes('hunter2'));
  });

  it('should refuse domains it does not serve, wrong versions and malformed credentials', async () => {
    const key = generateCurveKeyPair().publicKey;
    const { zap, metrics } = setup({ allowAny: true, domains: ['global'] });
    assert.equal((await zap.decide(curveRequest(key, 'other'))).reason, 'domain');
    assert.equal((await zap.decide({ ...curveRequest(key), version: '2.0' })).reason, 'malformed');
    assert.equal((await zap.decide({ ...curveRequest(key), credentials: [new Uint8Array(31)] })).reason, 'malformed');
    assert.equal((await zap.decide(curveRequest(key))).status, '200');
    assert.equal(await metrics.value('makai_zap_rejections_total', { reason: 'malformed' }), 2);
  });

  it('should answer 500 and count an error when the allow-list check fails', async () => {
    const { zap, metrics } = setup({
      isAllowed: () => {
        throw new Error('store unavailable');
      },
    });
    assert.deepEqual(await zap.decide(curveRequest(generateCurveKeyPair().publicKey)), { status: '500', reason: 'error' });
    assert.equal(await metrics.value('makai_zap_rejections_total', { reason: 'error' }), 1);
  });

  it('should require exactly one of isAllowed and allowAny', () => {
    assert.throws(() => setup({}), ConfigError);
    assert.throws(() => setup({ allowAny: true, isAllowed: () => true }), ConfigError);
  });

  it('should split RFC 27 request frames', () => {
    const key = new Uint8Array(32).fill(7);
    const request = parseZapRequest([bytes('1.0'), bytes('42'), bytes('global'), bytes('10.0.0.1'), bytes(''), bytes('CURVE'), key]);
    assert.deepEqual(request, { version: '1.0', requestId: bytes('42'), domain: 'global', address: '10.0.0.1', mechanism: 'CURVE', credentials: [key] });
    assert.equal(parseZapRequest([bytes('1.0'), bytes('42')]), undefined);
  });
});
