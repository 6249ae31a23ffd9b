import { createRoot } from 'react-dom/client';
import { App } from './App';
import { getApi } from './transport';
import './styles.css';

createRoot(document.getElementById('root')!).render(<App api={getApi()} />);
