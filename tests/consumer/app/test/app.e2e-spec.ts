// The scenario on the app built in process, as `nest new`'s own e2e test does.
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createRedisClient } from '@tidykv/session';
import { AppModule } from '../src/app.module.js';
import { describeScenario } from './scenario.js';

describeScenario('an app using @tidykv/session and @tidykv/repository (in process)', async (redisUrl) => {
  const client = createRedisClient({ url: redisUrl }, 'consumer-app');
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register({ client })] }).compile();
  const app: INestApplication = moduleRef.createNestApplication();
  await app.init();
  return {
    server: app.getHttpServer(),
    close: async () => {
      await app.close();
      await client.quit();
    },
  };
});
