// The scenario on the app built in process, as `nest new`'s own e2e test does.
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../src/app.module.js';
import { describeScenario } from './scenario.js';

describeScenario('an app using @tidykv/session and @tidykv/repository (in process)', async (redisUrl) => {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register({ redisUrl })] }).compile();
  const app: INestApplication = moduleRef.createNestApplication();
  await app.init();
  return { server: app.getHttpServer(), close: () => app.close() };
});
