import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseStore } from '../../../src/config/store-choice.js';

describe('chooseStore', () => {
  const fields = [
    ['store', undefined],
    ['mongo_uri', 'mongodb://db:27017'],
  ] as const;

  it('should take --store over the config, and say it came from the flag', () => {
    assert.deepEqual(chooseStore('sqlite:/tmp/x.db', 'acq.json', fields, 'sqlite:default.db'), { uri: 'sqlite:/tmp/x.db', origin: { configPath: '--store' } });
  });

  it('should take the first config field that names a store, with the file and field', () => {
    assert.deepEqual(chooseStore(undefined, 'acq.json', fields, 'sqlite:default.db'), {
      uri: 'mongodb://db:27017',
      origin: { configFile: 'acq.json', configPath: 'mongo_uri' },
    });
    const both = [['store', 'sqlite:/data/makai.db'], ['mongo_uri', 'mongodb://db:27017']] as const;
    assert.deepEqual(chooseStore(undefined, 'acq.json', both, 'sqlite:default.db'), {
      uri: 'sqlite:/data/makai.db',
      origin: { configFile: 'acq.json', configPath: 'store' },
    });
  });

  it('should fall back to the default, attributed to nothing, and to no store without one', () => {
    const unset = [['store', undefined], ['mongo_uri', undefined]] as const;
    assert.deepEqual(chooseStore(undefined, 'acq.json', unset, 'sqlite:default.db'), { uri: 'sqlite:default.db', origin: {} });
    assert.equal(chooseStore(undefined, 'trigger.json', unset, undefined), undefined);
  });

  it('should name no file for a field when no config file was read', () => {
    assert.deepEqual(chooseStore(undefined, undefined, fields, undefined), { uri: 'mongodb://db:27017', origin: { configPath: 'mongo_uri' } });
  });
});
