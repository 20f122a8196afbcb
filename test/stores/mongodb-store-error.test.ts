import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type BulkWriteResult,
} from 'mongodb';
import { StoreError } from '../../src/core/errors.js';
import { isDuplicateKeyError, isTransientMongoError, mongoStoreError } from '../../src/stores/mongodb-store-error.js';
import { closedPort } from '../helpers/mongodb.js';

/** A socket error as Node raises it (what a bulk write can surface unwrapped). */
function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -104 });
}

describe('isTransientMongoError', () => {
  it('should call network errors, unreachable servers and bare socket errors transient', async () => {
    assert.equal(isTransientMongoError(new MongoNetworkError('connection reset')), true);
    assert.equal(isTransientMongoError(systemError('ECONNRESET', 'write')), true);
    assert.equal(isTransientMongoError(systemError('ECONNREFUSED', 'connect')), true);

    // A real selection failure: nothing listens on the port.
    const client = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}/`, { serverSelectionTimeoutMS: 100 });
    const selection = await client.connect().then(
      () => assert.fail('connected to a closed port'),
      (error: unknown) => error,
    );
    await client.close();
    assert.ok(selection instanceof MongoServerSelectionError);
    assert.equal(isTransientMongoError(selection), true);
  });

  it('should judge server errors by code and label, not by message', () => {
    assert.equal(isTransientMongoError(new MongoServerError({ message: 'anything', code: 10107 })), true, 'NotWritablePrimary');
    assert.equal(isTransientMongoError(new MongoServerError({ message: 'anything', code: 91 })), true, 'ShutdownInProgress');
    assert.equal(
      isTransientMongoError(new MongoServerError({ message: 'anything', code: 2, errorLabels: ['RetryableWriteError'] })),
      true,
      'labelled retryable',
    );
    assert.equal(isTransientMongoError(new MongoServerError({ message: 'not primary, network timeout', code: 2 })), false);
    assert.equal(isTransientMongoError(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 })), false);
  });

  it('should look inside a bulk write error that only wraps a driver error', () => {
    const result = {} as BulkWriteResult;
    assert.equal(isTransientMongoError(new MongoBulkWriteError(new MongoNetworkError('reset'), result)), true);
    const refused = new MongoBulkWriteError({ message: 'document failed validation', code: 121, writeErrors: [] }, result);
    assert.equal(isTransientMongoError(refused), false);
  });

  it('should not call our own closing, plain errors or non-errors transient', () => {
    assert.equal(isTransientMongoError(new MongoTopologyClosedError()), false);
    assert.equal(isTransientMongoError(new TypeError('bad')), false);
    assert.equal(isTransientMongoError(systemError('EACCES', 'open')), false);
    assert.equal(isTransientMongoError('ECONNRESET'), false);
    assert.equal(isTransientMongoError(new StoreError('x', 'y', true)), true, 'a StoreError keeps its own verdict');
  });
});

describe('mongoStoreError', () => {
  it('should name the operation and code, keep the cause, and classify', () => {
    const cause = new MongoServerError({ message: 'not primary', code: 10107, codeName: 'NotWritablePrimary' });
    const error = mongoStoreError('insertTrends', cause, { context: 'writing trends' });
    assert.ok(error instanceof StoreError);
    assert.equal(error.operation, 'insertTrends');
    assert.equal(error.retryable, true);
    assert.equal(error.cause, cause);
    assert.match(error.message, /^insertTrends: writing trends: MongoServerError: not primary \(NotWritablePrimary\)$/);
    assert.equal(mongoStoreError('open', cause, { retryable: false }).retryable, false, 'the caller may override');
    const own = new StoreError('getBox', 'closed', false);
    assert.equal(mongoStoreError('getBox', own), own, 'a StoreError passes through');
  });

  it('should recognise duplicate keys by code', () => {
    assert.equal(isDuplicateKeyError(new MongoServerError({ message: 'whatever', code: 11000 })), true);
    assert.equal(isDuplicateKeyError(new MongoServerError({ message: 'E11000 duplicate key', code: 2 })), false);
  });
});
